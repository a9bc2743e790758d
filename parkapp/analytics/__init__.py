"""Analytics for admins: daily rollups kept in step with bookings and payments, the charts,
and the dashboard figures."""
