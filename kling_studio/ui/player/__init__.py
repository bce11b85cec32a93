"""The take player: Qt Multimedia playback with exact, cached frame steps, shot marks and compare views."""
