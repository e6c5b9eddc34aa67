-- Tag immutability per repository (Harbor's immutable tags, the seed's `TagImmutable`): while it
-- is on, a tag that exists cannot be moved to another digest nor deleted, and a manifest that
-- tags point at cannot be deleted by digest. The check is part of the statements that move or
-- delete tags (crates/store/src/sqlite.rs), so a concurrent toggle cannot slip between check and
-- write. Off for every existing repository.
ALTER TABLE repositories ADD COLUMN tag_immutable INTEGER NOT NULL DEFAULT 0;
