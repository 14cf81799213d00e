"""Video jobs: stream frames in segments, stylize them stably over time, join them with the sound."""
