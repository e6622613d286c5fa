"""The use cases, one module per job a person does (report attendance, file a complaint,
verify, link, erase data...). They take a store and plain values, never a Telegram object."""
