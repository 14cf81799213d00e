"""Request and stored-record schemas (pydantic) shared by the API and the workers."""
