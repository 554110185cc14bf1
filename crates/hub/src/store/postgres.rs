//! The group's central hub store: PostgreSQL. Every transaction names its practice first
//! (`SET LOCAL lifeboat.practice`), from the device's credential; row-level security, forced on the
//! tables' owner, keeps every query inside that practice whatever it asks for. A practice's sequence
//! numbers are assigned while its row is locked, so they commit in order and a pull never skips one
//! (PostgreSQL sequences can commit out of order; a counter row under lock cannot).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use lifeboat_protocol::{Change, DaySummary, Mark, PracticeInfo, PushReply, Receipt, Tip};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Row, Transaction};
use uuid::Uuid;

use crate::error::{HubError, HubResult};
use crate::store::{plan_push, Device, DeviceInfo, Identity, RawPage};

pub struct PgStore {
    pool: PgPool,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

async fn begin(pool: &PgPool, practice: Option<Uuid>) -> HubResult<Transaction<'static, Postgres>> {
    // (Not named in the BEGIN itself: a BEGIN that then failed to name the practice would leave the
    // connection in a failed transaction that sqlx does not know it opened.)
    let mut tx = pool.begin().await?;
    if let Some(p) = practice {
        sqlx::query("SELECT set_config('lifeboat.practice', $1, true)").bind(p.to_string()).execute(&mut *tx).await?;
    }
    Ok(tx)
}

async fn set(tx: &mut Transaction<'static, Postgres>, name: &str, value: &str) -> HubResult<()> {
    sqlx::query("SELECT set_config($1, $2, true)").bind(name).bind(value).execute(&mut **tx).await?;
    Ok(())
}

impl PgStore {
    /// Connects, checks that the role cannot bypass row-level security, and brings the schema up to
    /// date.
    pub async fn connect(url: &str) -> HubResult<PgStore> {
        let options: PgConnectOptions =
            url.parse().map_err(|e| HubError::Store(format!("the database address is not valid: {e}")))?;
        let pool = PgPoolOptions::new().max_connections(16).connect_with(options).await?;
        let row = sqlx::query("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&pool)
            .await?;
        let (superuser, bypass): (bool, bool) = (row.try_get(0)?, row.try_get(1)?);
        if superuser || bypass {
            return Err(HubError::Store(
                "the hub must connect as a role made with NOSUPERUSER NOBYPASSRLS: this one would see every practice's data".into(),
            ));
        }
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| HubError::Store(format!("the schema could not be brought up to date: {e}")))?;
        let mut tx = pool.begin().await?;
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM hub_server)").fetch_one(&mut *tx).await?;
        if !exists {
            sqlx::query("INSERT INTO hub_server (id, server_id, epoch, signing_key) VALUES (1, $1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(Uuid::now_v7())
                .bind(Uuid::now_v7())
                .bind(crate::store::new_secret(32))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(PgStore { pool })
    }

    /// The pool, for tests that look behind the hub's back.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn identity(&self) -> HubResult<Identity> {
        let row = sqlx::query("SELECT server_id, epoch, signing_key FROM hub_server").fetch_one(&self.pool).await?;
        let key: String = row.try_get(2)?;
        let mut signing_key = [0u8; 32];
        hex::decode_to_slice(&key, &mut signing_key)
            .map_err(|_| HubError::Store("the signing key is damaged".into()))?;
        Ok(Identity { server_id: row.try_get(0)?, epoch: row.try_get(1)?, signing_key })
    }

    pub async fn new_epoch(&self) -> HubResult<Uuid> {
        let epoch = Uuid::now_v7();
        sqlx::query("UPDATE hub_server SET epoch = $1").bind(epoch).execute(&self.pool).await?;
        Ok(epoch)
    }

    pub async fn add_practice(&self, id: Uuid, name: &str) -> HubResult<PracticeInfo> {
        let mut tx = begin(&self.pool, Some(id)).await?;
        sqlx::query(
            "INSERT INTO practice (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = excluded.name",
        )
        .bind(id)
        .bind(name)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(PracticeInfo { id, name: name.to_string() })
    }

    pub async fn practices(&self) -> HubResult<Vec<PracticeInfo>> {
        let rows = sqlx::query("SELECT id, name FROM practice ORDER BY name, id").fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok(PracticeInfo { id: r.try_get(0)?, name: r.try_get(1)? })).collect()
    }

    pub async fn add_enrol_code(&self, practice: Uuid, code_hash: &str, expires: DateTime<Utc>) -> HubResult<()> {
        let mut tx = begin(&self.pool, Some(practice)).await?;
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM practice WHERE id = $1)")
            .bind(practice)
            .fetch_one(&mut *tx)
            .await?;
        if !exists {
            return Err(HubError::NotFound(format!("there is no practice {practice} on this server")));
        }
        sqlx::query("INSERT INTO enrol_code (code_hash, practice_id, expires_at) VALUES ($1, $2, $3)")
            .bind(code_hash)
            .bind(practice)
            .bind(expires)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn enrol(&self, code_hash: &str, name: &str, node_id: Uuid, token_hash: &str) -> HubResult<Device> {
        let mut tx = begin(&self.pool, None).await?;
        set(&mut tx, "lifeboat.code", code_hash).await?;
        let found = sqlx::query("SELECT practice_id, expires_at, used_at FROM enrol_code WHERE code_hash = $1")
            .bind(code_hash)
            .fetch_optional(&mut *tx)
            .await?;
        let invalid = || HubError::Unauthorized("that enrolment code is not valid: ask for a new one".into());
        let Some(row) = found else { return Err(invalid()) };
        let (practice, expires, used): (Uuid, DateTime<Utc>, Option<DateTime<Utc>>) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        if used.is_some() || expires < Utc::now() {
            return Err(invalid());
        }
        set(&mut tx, "lifeboat.practice", &practice.to_string()).await?;
        // Used once: of two devices enrolling with one code at once, one finds it already used.
        let taken = sqlx::query("UPDATE enrol_code SET used_at = now() WHERE code_hash = $1 AND used_at IS NULL")
            .bind(code_hash)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if taken != 1 {
            return Err(invalid());
        }
        let id = Uuid::now_v7();
        sqlx::query("INSERT INTO device (id, practice_id, name, node_id, token_hash) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(practice)
            .bind(name)
            .bind(node_id)
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
        let practice_name: String =
            sqlx::query_scalar("SELECT name FROM practice WHERE id = $1").bind(practice).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(Device { id, practice_id: practice, practice_name, node_id })
    }

    pub async fn authenticate(&self, token_hash: &str, app_version: Option<&str>) -> HubResult<Device> {
        let mut tx = begin(&self.pool, None).await?;
        set(&mut tx, "lifeboat.token", token_hash).await?;
        let found = sqlx::query(
            "SELECT d.id, d.practice_id, p.name, d.node_id, d.revoked_at FROM device d JOIN practice p ON p.id = d.practice_id
             WHERE d.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = found else {
            return Err(HubError::Unauthorized("this device's credential is not valid: pair it again".into()));
        };
        let revoked: Option<DateTime<Utc>> = row.try_get(4)?;
        if revoked.is_some() {
            return Err(HubError::Forbidden("this device has been revoked: ask the practice manager".into()));
        }
        let device = Device {
            id: row.try_get(0)?,
            practice_id: row.try_get(1)?,
            practice_name: row.try_get(2)?,
            node_id: row.try_get(3)?,
        };
        if let Some(v) = app_version {
            set(&mut tx, "lifeboat.practice", &device.practice_id.to_string()).await?;
            sqlx::query("UPDATE device SET last_seen = now(), app_version = $2 WHERE id = $1")
                .bind(device.id)
                .bind(v.chars().take(40).collect::<String>())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(device)
    }

    pub async fn devices(&self, practice: Option<Uuid>) -> HubResult<Vec<DeviceInfo>> {
        let practices = match practice {
            Some(p) => vec![p],
            None => self.practices().await?.into_iter().map(|p| p.id).collect(),
        };
        let mut out = Vec::new();
        for p in practices {
            let mut tx = begin(&self.pool, Some(p)).await?;
            let rows = sqlx::query(
                "SELECT id, practice_id, name, node_id, enrolled_at, revoked_at, last_seen, app_version FROM device ORDER BY enrolled_at",
            )
            .fetch_all(&mut *tx)
            .await?;
            for r in rows {
                out.push(DeviceInfo {
                    id: r.try_get(0)?,
                    practice_id: r.try_get(1)?,
                    name: r.try_get(2)?,
                    node_id: r.try_get(3)?,
                    enrolled_at: r.try_get(4)?,
                    revoked_at: r.try_get(5)?,
                    last_seen: r.try_get(6)?,
                    app_version: r.try_get(7)?,
                });
            }
            tx.commit().await?;
        }
        Ok(out)
    }

    pub async fn revoke(&self, device: Uuid) -> HubResult<()> {
        for p in self.practices().await? {
            let mut tx = begin(&self.pool, Some(p.id)).await?;
            let n = sqlx::query("UPDATE device SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1")
                .bind(device)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            if n > 0 {
                return Ok(());
            }
        }
        Err(HubError::NotFound(format!("there is no device {device}")))
    }

    pub async fn marks(&self, practice: Uuid) -> HubResult<(Vec<Mark>, i64)> {
        let mut tx = begin(&self.pool, Some(practice)).await?;
        let last: Option<i64> = sqlx::query_scalar("SELECT last_seq FROM practice WHERE id = $1")
            .bind(practice)
            .fetch_optional(&mut *tx)
            .await?;
        let last = last.ok_or_else(|| HubError::NotFound(format!("there is no practice {practice} on this server")))?;
        let rows = sqlx::query("SELECT node_id, last_seq FROM node_mark ORDER BY node_id").fetch_all(&mut *tx).await?;
        let marks = rows
            .iter()
            .map(|r| Ok(Mark { node_id: r.try_get(0)?, seq: r.try_get(1)? }))
            .collect::<HubResult<Vec<_>>>()?;
        tx.commit().await?;
        Ok((marks, last))
    }

    /// Stores a push (its changes already checked) in five round trips: begin and name the practice;
    /// lock the practice's row and read its marks; write changes, marks and the sequence in one
    /// statement; commit.
    pub async fn push(&self, device: &Device, changes: Vec<Change>, tips: Vec<Tip>) -> HubResult<PushReply> {
        let practice = device.practice_id;
        let nodes: Vec<Uuid> = {
            let mut n: Vec<Uuid> = changes.iter().map(|c| c.node_id).chain(tips.iter().map(|t| t.node_id)).collect();
            n.sort();
            n.dedup();
            n
        };
        // Bodies are written as received (their JSON), made before the lock is taken.
        let bodies: Vec<String> = changes
            .iter()
            .map(|c| serde_json::to_string(c).map_err(|e| HubError::Store(e.to_string())))
            .collect::<HubResult<_>>()?;
        let mut tx = begin(&self.pool, Some(practice)).await?;
        // The practice's row is locked until this push commits: pushes of one practice take turns.
        let rows = sqlx::query(
            "SELECT p.last_seq, m.node_id, m.last_seq FROM practice p
             LEFT JOIN node_mark m ON m.practice_id = p.id AND m.node_id = ANY($2)
             WHERE p.id = $1 FOR UPDATE OF p",
        )
        .bind(practice)
        .bind(&nodes)
        .fetch_all(&mut *tx)
        .await?;
        let first = rows
            .first()
            .ok_or_else(|| HubError::NotFound(format!("there is no practice {practice} on this server")))?;
        let mut last: i64 = first.try_get(0)?;
        let mut marks: HashMap<Uuid, i64> = HashMap::new();
        for r in &rows {
            if let (Some(node), Some(seq)) = (r.try_get::<Option<Uuid>, _>(1)?, r.try_get::<Option<i64>, _>(2)?) {
                marks.insert(node, seq);
            }
        }
        let ops: Vec<Uuid> = changes
            .iter()
            .filter(|c| c.node_seq <= marks.get(&c.node_id).copied().unwrap_or(0))
            .map(|c| c.op_id)
            .collect();
        let existing: HashMap<Uuid, String> = if ops.is_empty() {
            HashMap::new()
        } else {
            sqlx::query("SELECT op_id, content_hash FROM change WHERE op_id = ANY($1)")
                .bind(&ops)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<HubResult<_>>()?
        };
        let mut held = HashMap::new();
        for tip in tips.iter().filter(|t| t.seq <= marks.get(&t.node_id).copied().unwrap_or(0)) {
            let op: Option<Uuid> = sqlx::query_scalar("SELECT op_id FROM change WHERE node_id = $1 AND node_seq = $2")
                .bind(tip.node_id)
                .bind(tip.seq)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(op) = op {
                held.insert((tip.node_id, tip.seq), op);
            }
        }
        let (new, duplicates) = plan_push(&changes, &marks, &existing, &tips, &held)?;
        if !new.is_empty() {
            let index: HashMap<Uuid, usize> = changes.iter().enumerate().map(|(i, c)| (c.op_id, i)).collect();
            let mut seqs = Vec::with_capacity(new.len());
            let mut new_bodies = Vec::with_capacity(new.len());
            let mut final_marks: HashMap<Uuid, i64> = HashMap::new();
            for c in &new {
                last += 1;
                seqs.push(last);
                new_bodies.push(bodies[index[&c.op_id]].as_str());
                final_marks.insert(c.node_id, c.node_seq);
            }
            let (mark_nodes, mark_seqs): (Vec<Uuid>, Vec<i64>) = final_marks.into_iter().unzip();
            sqlx::query(
                "WITH added AS (
                    INSERT INTO change (practice_id, seq, op_id, node_id, node_seq, hlc, content_hash, body, device_id)
                    SELECT $1, s, o, n, ns, h, ch, b, $9
                    FROM UNNEST($2::bigint[], $3::uuid[], $4::uuid[], $5::bigint[], $6::bigint[], $7::text[], $8::text[])
                         AS t (s, o, n, ns, h, ch, b)
                    RETURNING 1
                 ), marked AS (
                    INSERT INTO node_mark (practice_id, node_id, last_seq)
                    SELECT $1, n, s FROM UNNEST($10::uuid[], $11::bigint[]) AS t (n, s)
                    ON CONFLICT (practice_id, node_id) DO UPDATE SET last_seq = excluded.last_seq
                    RETURNING 1
                 ), counted AS (
                    UPDATE practice SET last_seq = $12 WHERE id = $1 RETURNING 1
                 )
                 SELECT (SELECT count(*) FROM added), (SELECT count(*) FROM marked), (SELECT count(*) FROM counted)",
            )
            .bind(practice)
            .bind(&seqs)
            .bind(new.iter().map(|c| c.op_id).collect::<Vec<_>>())
            .bind(new.iter().map(|c| c.node_id).collect::<Vec<_>>())
            .bind(new.iter().map(|c| c.node_seq).collect::<Vec<_>>())
            .bind(new.iter().map(|c| c.hlc).collect::<Vec<_>>())
            .bind(new.iter().map(|c| c.content_hash.clone()).collect::<Vec<_>>())
            .bind(&new_bodies)
            .bind(if device.id.is_nil() { None } else { Some(device.id) })
            .bind(&mark_nodes)
            .bind(&mark_seqs)
            .bind(last)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(PushReply { stored: new.len() as u32, duplicates, last_seq: last })
    }

    pub async fn pull(&self, practice: Uuid, after: i64, after_op: Option<Uuid>, limit: u32) -> HubResult<RawPage> {
        let mut tx = begin(&self.pool, Some(practice)).await?;
        let last_seq: i64 = sqlx::query_scalar("SELECT last_seq FROM practice WHERE id = $1")
            .bind(practice)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| HubError::NotFound(format!("there is no practice {practice} on this server")))?;
        if after > last_seq {
            return Err(HubError::CursorUnknown(format!(
                "this server holds {last_seq} changes, fewer than the {after} already pulled: it was restored from a backup; pull again from the start"
            )));
        }
        if let (Some(op), true) = (after_op, after > 0) {
            let at: Option<Uuid> = sqlx::query_scalar("SELECT op_id FROM change WHERE seq = $1")
                .bind(after)
                .fetch_optional(&mut *tx)
                .await?;
            if at != Some(op) {
                return Err(HubError::CursorUnknown(
                    "this server's history differs from the one already pulled (it was restored from a backup): pull again from the start".into(),
                ));
            }
        }
        // The page stops where the bodies pass PAGE_BYTES (always one at least): counted here, so
        // the bodies past it never leave the database.
        let rows = sqlx::query(
            "SELECT seq, body FROM (
                 SELECT seq, body, row_number() OVER (ORDER BY seq) AS n,
                        sum(octet_length(body)) OVER (ORDER BY seq ROWS UNBOUNDED PRECEDING) AS upto
                 FROM (SELECT seq, body FROM change WHERE seq > $1 ORDER BY seq LIMIT $2) page
             ) sized WHERE n = 1 OR upto <= $3 ORDER BY seq",
        )
        .bind(after)
        .bind(i64::from(limit))
        .bind(lifeboat_protocol::wire::PAGE_BYTES as i64)
        .fetch_all(&mut *tx)
        .await?;
        let changes = rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect::<HubResult<Vec<_>>>()?;
        tx.commit().await?;
        Ok(RawPage { changes, last_seq })
    }

    pub async fn day_summaries(&self, practice: Uuid) -> HubResult<Vec<DaySummary>> {
        let mut tx = begin(&self.pool, Some(practice)).await?;
        let rows = sqlx::query("SELECT op_id, hlc FROM change").fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let mut days: std::collections::BTreeMap<String, Vec<Uuid>> = Default::default();
        for r in rows {
            days.entry(lifeboat_protocol::change::day_of(r.try_get(1)?)).or_default().push(r.try_get(0)?);
        }
        Ok(days.into_iter().map(|(d, mut ops)| DaySummary::of(&d, &mut ops)).collect())
    }

    pub async fn store_receipt(&self, device: &Device, r: &Receipt) -> HubResult<()> {
        let mut tx = begin(&self.pool, Some(device.practice_id)).await?;
        sqlx::query(
            "INSERT INTO audit_receipt (practice_id, device_id, node_id, audit_seq, head_hash, signed_at, server_key, signature)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        )
        .bind(device.practice_id)
        .bind(device.id)
        .bind(r.node_id)
        .bind(r.audit_seq)
        .bind(&r.head_hash)
        .bind(&r.signed_at)
        .bind(&r.server_key)
        .bind(&r.signature)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn last_receipt(&self, device: &Device) -> HubResult<Option<Receipt>> {
        let mut tx = begin(&self.pool, Some(device.practice_id)).await?;
        let row = sqlx::query(
            "SELECT node_id, audit_seq, head_hash, signed_at, server_key, signature FROM audit_receipt
             WHERE device_id = $1 ORDER BY audit_seq DESC, signed_at DESC LIMIT 1",
        )
        .bind(device.id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        row.map(|r| {
            Ok(Receipt {
                node_id: r.try_get(0)?,
                audit_seq: r.try_get(1)?,
                head_hash: r.try_get(2)?,
                signed_at: r.try_get(3)?,
                server_key: r.try_get(4)?,
                signature: r.try_get(5)?,
            })
        })
        .transpose()
    }

    pub async fn append_own(
        &self,
        practice: Uuid,
        node: Uuid,
        make: impl Fn(i64) -> Change + Send + Sync + 'static,
    ) -> HubResult<Change> {
        // The number is read, then the change pushed like any other; a push of the same practice in
        // between takes the number, and this one tries again.
        let mut tries = 0;
        loop {
            let mut tx = begin(&self.pool, Some(practice)).await?;
            let mark: Option<i64> = sqlx::query_scalar("SELECT last_seq FROM node_mark WHERE node_id = $1")
                .bind(node)
                .fetch_optional(&mut *tx)
                .await?;
            tx.commit().await?;
            let change = make(mark.unwrap_or(0) + 1);
            let device = Device { id: Uuid::nil(), practice_id: practice, practice_name: String::new(), node_id: node };
            match self.push(&device, vec![change.clone()], Vec::new()).await {
                Err(HubError::Refused(_)) if tries < 5 => tries += 1,
                other => return other.map(|_| change),
            }
        }
    }
}
