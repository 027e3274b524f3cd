"""Pure functions from a decoded webhook payload to what the receiver should record.

No I/O, no clock of their own (`now` is a parameter): table tests feed them
golden payloads from tests/data/webhooks.
"""

from webhook_receiver.parsing.alerts import ParsedAlert, ParseOptions, Unrecognized

__all__ = ["ParseOptions", "ParsedAlert", "Unrecognized"]
