-- A recorded value can be deleted (its audit row has no new value), and every change can say why.
ALTER TABLE value_audit ALTER COLUMN new_numerator DROP NOT NULL;
ALTER TABLE value_audit ADD COLUMN reason VARCHAR;  -- why the value was corrected or deleted, as the user wrote it
