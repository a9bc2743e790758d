"""Exports: booking-history CSV, monthly activity and revenue PDFs, as jobs run by the worker."""
