"""wagate: a self-hosted WhatsApp Business messaging platform with Meta's Cloud API surface."""

__version__ = "0.1.0"
