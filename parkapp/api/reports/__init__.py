"""API namespaces for reports: dashboard and analytics figures, exports."""
