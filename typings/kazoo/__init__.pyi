# Local stubs for kazoo 2.11: only what controller/coordination and its tests call.
