# The "no value" markers of a GET reply's variable bindings (pyasn1 Null subclasses).

class NoSuchObject:
    def prettyPrint(self) -> str: ...

class NoSuchInstance:
    def prettyPrint(self) -> str: ...

class EndOfMibView:
    def prettyPrint(self) -> str: ...
