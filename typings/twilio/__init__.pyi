# Stubs for the few twilio calls the notifier makes (controller/notifier/channels.py).
