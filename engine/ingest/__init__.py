"""Ingestion: a file's bytes become normalized text (`text`), sections with a title (`extract`)
and chunks sized for the model (`chunk`). Depends only on the foundation modules."""
