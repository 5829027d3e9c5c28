"""The trial report's figures and tables, drawn from ADaM-shaped DataFrames.

Every number shown comes from the analysis datasets or from ``ikctrial.stats``; nothing here
re-derives a statistic. Figures are matplotlib ``Figure`` objects built with the object-oriented API
(no ``pyplot``, no global state), so the report builder can render them to PNG, SVG or PDF.
"""
