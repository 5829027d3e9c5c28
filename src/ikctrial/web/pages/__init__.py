"""Server-rendered site pages (Django templates + htmx): dashboard, screening, subject, schedule."""
