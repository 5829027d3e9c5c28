"""One module per report figure; ``style`` holds the palette and sizes they share."""
