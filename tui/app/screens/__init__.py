"""The app's screens: the live session, a recording, and the modals over them."""
