-- Demo data for `make run` on an empty database: a few movies, theatres in
-- two cities with different time zones, screens, and shows in the coming
-- days. Not a migration: scripts/run.sh loads it only when there are no
-- movies yet.
BEGIN;

INSERT INTO movies (title, description, duration_minutes, rating,
    poster_url, release_date) VALUES
('The Long Night', 'A lighthouse keeper and a storm that will not end.',
    118, 'PG-13', 'https://example.com/posters/long-night.jpg', '2026-10-02'),
('Paper Planets', 'An animated journey through a child''s sketchbook.',
    94, 'G', 'https://example.com/posters/paper-planets.jpg', '2026-09-18'),
('Quiet Harbour', 'Two sisters reopen their late father''s cinema.',
    131, 'PG', NULL, '2026-11-06'),
('Signal Lost', 'A thriller set aboard a drifting research vessel.',
    106, 'R', 'https://example.com/posters/signal-lost.jpg', '2026-11-13');

INSERT INTO theatres (name, city, address, timezone) VALUES
('Kino am Kanal', 'Berlin', 'Kanalstrasse 12, 10999 Berlin', 'Europe/Berlin'),
('Spreeblick Lichtspiele', 'Berlin', 'Uferweg 3, 10178 Berlin',
    'Europe/Berlin'),
('Harbor Cinema', 'New York', '210 Water St, New York, NY 10038',
    'America/New_York');

INSERT INTO screens (theatre_id, name)
SELECT t.id, s.name FROM theatres t
CROSS JOIN (VALUES ('Screen 1'), ('Screen 2')) AS s(name);

INSERT INTO screen_rows (screen_id, position, label, seats, tier, price_cents)
SELECT sc.id, r.position, r.label, r.seats, r.tier, r.price
FROM screens sc
CROSS JOIN (VALUES
	(0, 'A', 10, 'standard', 1100),
	(1, 'B', 10, 'standard', 1100),
	(2, 'C', 12, 'standard', 1200),
	(3, 'D', 8, 'premium', 1600)
) AS r(position, label, seats, tier, price);

-- Shows over the next four days at 14:00, 18:00 and 21:30 local time.
INSERT INTO shows (movie_id, screen_id, start_time, end_time, currency)
SELECT m.id, sc.id, st.start_time,
    st.start_time + make_interval(mins => m.duration_minutes + 15),
    CASE WHEN t.timezone = 'America/New_York' THEN 'USD' ELSE 'EUR' END
FROM screens sc
JOIN theatres t ON t.id = sc.theatre_id
CROSS JOIN generate_series(1, 4) AS d(day)
CROSS JOIN (VALUES (0, '14:00'), (1, '18:00'), (2, '21:30')) AS slot(n, hhmm)
JOIN movies m ON m.id = (SELECT id FROM movies ORDER BY id
    OFFSET ((sc.id + d.day + slot.n) % 4) LIMIT 1)
CROSS JOIN LATERAL (SELECT ((((now() AT TIME ZONE t.timezone)::date
    + d.day) + slot.hhmm::time) AT TIME ZONE t.timezone) AS start_time) st;

INSERT INTO seats (show_id, row_label, number, tier, price_cents)
SELECT sh.id, r.label, n.number, r.tier, r.price_cents
FROM shows sh
JOIN screen_rows r ON r.screen_id = sh.screen_id
CROSS JOIN LATERAL generate_series(1, r.seats) AS n(number);

COMMIT;
