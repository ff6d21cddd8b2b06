-- A kiosk link made for an exercise shows that exercise's layer over
-- reality (and says so); every other kiosk shows reality only.
ALTER TABLE kiosks ADD COLUMN exercise_id INTEGER REFERENCES exercises (id);
