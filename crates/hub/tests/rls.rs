//! Tenant isolation in the hub's PostgreSQL, below the hub's own code: the role the hub connects as
//! owns the tables and still cannot read or change another practice's rows, or any row without naming
//! a practice, because row-level security is forced on it. A superuser hub is refused outright.

use lifeboat_hub::pg_cluster::PgCluster;
use lifeboat_hub::store::postgres::PgStore;
use lifeboat_hub::store::{Device, Store};
use lifeboat_protocol::Change;
use serde_json::json;
use sqlx::Row;
use uuid::Uuid;

fn change(node: Uuid, seq: i64) -> Change {
    Change {
        op_id: Uuid::now_v7(),
        node_id: node,
        node_seq: seq,
        hlc: 1 << 40,
        schema_version: 5,
        actor_id: Uuid::now_v7(),
        entity: "client".into(),
        entity_id: Uuid::now_v7(),
        kind: "create".into(),
        payload: json!({ "last_name": "Quillfeather" }),
        base: json!({}),
        content_hash: String::new(),
    }
    .sealed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_table_owner_cannot_see_past_its_practice() {
    let cluster = PgCluster::start().expect("a PostgreSQL cluster for the test");
    let err = PgStore::connect(&cluster.superuser_url("postgres")).await.err().expect("a superuser hub is refused");
    assert!(err.to_string().contains("NOSUPERUSER NOBYPASSRLS"), "{err}");

    let url = cluster.hub_database("hub_rls").unwrap();
    let pg = PgStore::connect(&url).await.unwrap();
    let store = Store::Postgres(PgStore::connect(&url).await.unwrap());
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    store.add_practice(a, "Riverside Vets").await.unwrap();
    store.add_practice(b, "Heronsgate Vets").await.unwrap();
    for (practice, n) in [(a, 3), (b, 2)] {
        let device =
            Device { id: Uuid::now_v7(), practice_id: practice, practice_name: String::new(), node_id: Uuid::now_v7() };
        let changes: Vec<Change> = (1..=n).map(|s| change(device.node_id, s)).collect();
        store.push(&device, changes, Vec::new()).await.unwrap();
    }

    let pool = pg.pool();
    let mut conn = pool.acquire().await.unwrap();
    let owner: bool = sqlx::query_scalar("SELECT tableowner = current_user FROM pg_tables WHERE tablename = 'change'")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert!(owner, "the hub's role owns the tables, and still:");
    let unnamed: i64 = sqlx::query_scalar("SELECT count(*) FROM change").fetch_one(&mut *conn).await.unwrap();
    assert_eq!(unnamed, 0, "no practice named: no rows");
    drop(conn);

    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SELECT set_config('lifeboat.practice', $1, true)")
        .bind(a.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    let rows = sqlx::query("SELECT practice_id FROM change").fetch_all(&mut *tx).await.unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.get::<Uuid, _>(0) == a), "only practice A's rows");
    let moved =
        sqlx::query("UPDATE change SET body = 'x' WHERE practice_id = $1").bind(b).execute(&mut *tx).await.unwrap();
    assert_eq!(moved.rows_affected(), 0, "B's rows cannot be changed from A");
    let deleted = sqlx::query("DELETE FROM change").execute(&mut *tx).await.unwrap();
    assert_eq!(deleted.rows_affected(), 0, "changes are never deleted, even one's own");
    let rewritten = sqlx::query("UPDATE change SET body = 'x'").execute(&mut *tx).await.unwrap();
    assert_eq!(rewritten.rows_affected(), 0, "nor rewritten");
    let inserted = sqlx::query(
        "INSERT INTO change (practice_id, seq, op_id, node_id, node_seq, hlc, content_hash, body) VALUES ($1, 99, $2, $2, 1, 1, 'h', '{}')",
    )
    .bind(b)
    .bind(Uuid::now_v7())
    .execute(&mut *tx)
    .await;
    assert!(inserted.unwrap_err().to_string().contains("row-level security"), "no row can be written into B from A");
    tx.rollback().await.unwrap();
    let truncated = sqlx::query("TRUNCATE change").execute(pool).await;
    assert!(truncated.unwrap_err().to_string().contains("never removes"));

    let bypass: bool = sqlx::query_scalar("SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user")
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(!bypass);
}
