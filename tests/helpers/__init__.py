"""Test doubles and builders shared by the tests: a fake Ollama speaking the real wire protocol
(`fake_ollama`), a scripted ChatModel (`scripted_model`), small real indexes (`agent`), a fake
engine for the service and the client (`service`), fakes for the desktop (`gui`) and PDFs made
on the fly (`pdf_factory`)."""
