"""Needle desktop: the PySide6 app. Qt only; it reaches the engine through
`desktop.engine_client.EngineClient` and the protocol codec, never through engine internals."""
