"""Media: files businesses upload and customers send, their storage, and their upstream copies.

`rules` says what WhatsApp accepts, `store` keeps the bytes, `service` holds the use cases behind
Meta's media endpoints, `translate` swaps wagate's ids for the upstream's at dispatch, `fetch` gets a
link safely, and `worker` downloads inbound media (`workers/retention.py` deletes media past retention).
"""
