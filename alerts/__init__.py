"""Who is told what and when: routing, grouping, rendering, channels, outbox delivery."""
