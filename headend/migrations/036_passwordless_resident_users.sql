-- A resident signs in with one-time access codes and holds sessions only: the user made on the first
-- sign-in has no password (password_hash NULL), so no slow hash of a random password is made for it
-- inside the sign-in's transaction. A NULL hash never verifies (auth/users.ts authenticate), so such a
-- user cannot log in with a password. Staff users keep theirs (user administration always sets one).
ALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL;
