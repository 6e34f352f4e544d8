// Migrations are embedded with `embed_migrations!`; make new or edited migration files rebuild the crate.
//
// `cfg(roadshow_pg)` is on when the PostgreSQL half of the integration tests must run: when
// `ROADSHOW_TEST_POSTGRES_URL` is set, or under `CI=true`. Without it those tests are marked
// ignored (`tests/api/helpers.rs`), so a run without PostgreSQL shows them as skipped, not passed.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rustc-check-cfg=cfg(roadshow_pg)");
    println!("cargo:rerun-if-env-changed=ROADSHOW_TEST_POSTGRES_URL");
    println!("cargo:rerun-if-env-changed=CI");
    let url = std::env::var("ROADSHOW_TEST_POSTGRES_URL").map(|u| !u.trim().is_empty()).unwrap_or(false);
    let ci = std::env::var("CI").map(|v| v == "true").unwrap_or(false);
    if url || ci {
        println!("cargo:rustc-cfg=roadshow_pg");
    }
}
