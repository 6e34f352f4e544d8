// Migrations are embedded with `embed_migrations!`; make new or edited migration files rebuild the crate.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
