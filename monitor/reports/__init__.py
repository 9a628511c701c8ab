"""Read models for people: performance (kinerja), the triage list, the backtest and the weekly brief."""
