-- Remote exchange folders (issue 7): a config's `folder` is a local path ('folder', confined to
-- EXCHANGE_ROOT by the API) or the directory on an FTP / FTPS (explicit AUTH TLS) / SFTP server.
-- The secret is kept so scheduled runs can log in unattended; the API never returns it (only
-- has_secret) and the audit log never records it. It is stored as given: whoever reads this table
-- can log in to the partner's server, so database access is as sensitive as the secret itself.
ALTER TABLE exchange_configs
  ADD COLUMN transport       text NOT NULL DEFAULT 'folder' CHECK (transport IN ('folder', 'ftp', 'ftps', 'sftp')),
  ADD COLUMN host            text,
  ADD COLUMN port            int CHECK (port BETWEEN 1 AND 65535),   -- NULL = the protocol's default (21 / 22)
  ADD COLUMN username        text,
  ADD COLUMN secret          text,                                  -- password, or an SFTP private key (PEM / OpenSSH)
  ADD COLUMN secret_kind     text CHECK (secret_kind IN ('password', 'private_key')),
  -- SFTP: the server's host key as OpenSSH prints it (`ssh-keygen -lf`): "SHA256:<base64, no padding>".
  -- A run refuses any other key, and refuses to log in while none is pinned (no trust on first use:
  -- the first connection is exactly when a man in the middle would collect the password).
  ADD COLUMN host_key_sha256 text CHECK (host_key_sha256 ~ '^SHA256:[A-Za-z0-9+/]{43}$'),
  ADD CONSTRAINT exchange_configs_remote_login CHECK (transport = 'folder' OR (host IS NOT NULL AND username IS NOT NULL)),
  ADD CONSTRAINT exchange_configs_secret_kind CHECK ((secret IS NULL) = (secret_kind IS NULL)),
  ADD CONSTRAINT exchange_configs_key_is_sftp CHECK (secret_kind IS DISTINCT FROM 'private_key' OR transport = 'sftp');
