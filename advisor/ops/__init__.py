"""Operations: Prometheus metrics, OpenTelemetry traces, model monitoring."""
