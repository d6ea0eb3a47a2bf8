"""The records pages: the chart (chart.py) and the consulting room (session.py)."""
