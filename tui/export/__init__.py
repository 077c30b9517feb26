"""Exporting a recording for other tools: each direction's audio as WAV on the recording's timeline
(`wav`), and the WebSocket messages as a Chrome-style HAR (`har`). Both stream the file."""
