//! The bundled SQLite is compiled with the options `.cargo/config.toml` gives it
//! (`LIBSQLITE3_FLAGS`). Without them every connection of the server would share one page cache
//! behind one mutex and count each allocation under another; nothing else would fail, only the
//! readers and the writer would wait on each other, so the options are checked here.

use rusqlite::Connection;

fn compile_options() -> Vec<String> {
    let conn = Connection::open_in_memory().expect("an in-memory database");
    let mut stmt = conn.prepare("PRAGMA compile_options").expect("the pragma");
    let options = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .expect("the options")
        .collect::<Result<Vec<_>, _>>();
    options.expect("each option")
}

#[test]
fn each_connection_keeps_its_own_page_cache() {
    let options = compile_options();
    assert!(
        options.iter().any(|o| o == "THREADSAFE=1"),
        "the library must be thread-safe: {options:?}"
    );
    assert!(
        !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
        "ENABLE_MEMORY_MANAGEMENT puts every connection's pages in one shared cache: {options:?}"
    );
}

#[test]
fn allocations_are_not_counted_under_a_global_lock() {
    let options = compile_options();
    assert!(
        options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
        "SQLite must be built with SQLITE_DEFAULT_MEMSTATUS=0: {options:?}"
    );
}
