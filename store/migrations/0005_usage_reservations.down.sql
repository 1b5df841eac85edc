DROP TABLE IF EXISTS usage_reservations;
