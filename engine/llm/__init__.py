"""The model layer: one chat interface, its Ollama implementation, and the token budgeter."""
