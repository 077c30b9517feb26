"""The wire: the recording format (writer, reader, redaction) and WebSocket connections that record every frame."""
