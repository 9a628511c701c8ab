"""Reading text and time series: normalisation, gazetteer, relevance, complaint,
topic, place, urgency, and spike/virality scoring. No network, no database."""
