"""The Ollama backend: the chat model (`chat`), the server's status and pulls (`server`), the
cancellable transport and the error translation they share."""
