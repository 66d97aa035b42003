"""The Cloud API wire format: send requests, responses, webhook envelopes and error codes."""
