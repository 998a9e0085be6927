"""The OpenAI-compatible backend (`/v1/chat/completions`): llama.cpp's server, LM Studio, vLLM,
SGLang, LocalAI, and Ollama's own /v1. Spoken with httpx directly (docs/openai.md says why)."""
