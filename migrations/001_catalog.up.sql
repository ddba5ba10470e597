-- The catalog: movies, theatres, screens with their seat rows, shows and
-- one seat row per seat of a show. Constraints make bad data impossible.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE movies (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	title		text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
	description	text NOT NULL DEFAULT ''
			    CHECK (length(description) <= 5000),
	duration_minutes integer NOT NULL
			    CHECK (duration_minutes BETWEEN 1 AND 1000),
	rating		text NOT NULL DEFAULT '' CHECK (length(rating) <= 20),
	poster_url	text CHECK (length(poster_url) <= 2000),
	release_date	date,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX movies_title_lower ON movies (lower(title));

CREATE TABLE theatres (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	city		text NOT NULL CHECK (length(city) BETWEEN 1 AND 100),
	address		text NOT NULL DEFAULT ''
			    CHECK (length(address) <= 500),
	timezone	text NOT NULL CHECK (length(timezone) BETWEEN 1 AND 64),
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX theatres_city_lower ON theatres (lower(city));

CREATE TABLE screens (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	theatre_id	bigint NOT NULL REFERENCES theatres (id),
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	created_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (theatre_id, name)
);

-- A screen's named rows: each with a seat count, a tier and a price.
CREATE TABLE screen_rows (
	screen_id	bigint NOT NULL REFERENCES screens (id) ON DELETE CASCADE,
	position	integer NOT NULL CHECK (position >= 0),
	label		text NOT NULL CHECK (length(label) BETWEEN 1 AND 8),
	seats		integer NOT NULL CHECK (seats BETWEEN 1 AND 200),
	tier		text NOT NULL CHECK (length(tier) BETWEEN 1 AND 32),
	price_cents	integer NOT NULL CHECK (price_cents >= 0),
	PRIMARY KEY (screen_id, position),
	UNIQUE (screen_id, label)
);

CREATE TABLE shows (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	movie_id	bigint NOT NULL REFERENCES movies (id),
	screen_id	bigint NOT NULL REFERENCES screens (id),
	start_time	timestamptz NOT NULL,
	end_time	timestamptz NOT NULL,
	currency	char(3) NOT NULL DEFAULT 'EUR'
			    CHECK (currency ~ '^[A-Z]{3}$'),
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	CHECK (end_time > start_time),
	-- No two shows overlap on one screen.
	CONSTRAINT shows_no_overlap EXCLUDE USING gist (
		screen_id WITH =,
		tstzrange(start_time, end_time) WITH &&
	)
);
CREATE INDEX shows_movie_start ON shows (movie_id, start_time);
CREATE INDEX shows_screen_start ON shows (screen_id, start_time);

-- One row per seat of a show, made from the screen's rows when the show
-- is created; prices are copied so a later screen change cannot reprice.
CREATE TABLE seats (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	show_id		bigint NOT NULL REFERENCES shows (id) ON DELETE CASCADE,
	row_label	text NOT NULL,
	number		integer NOT NULL CHECK (number >= 1),
	tier		text NOT NULL,
	price_cents	integer NOT NULL CHECK (price_cents >= 0),
	UNIQUE (show_id, row_label, number)
);
CREATE INDEX seats_show ON seats (show_id, id);
