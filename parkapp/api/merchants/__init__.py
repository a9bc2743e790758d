"""/merchants and /validations: merchant validations of parking."""
