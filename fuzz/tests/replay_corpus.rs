//! Replays every committed corpus file (`corpus/<target>/*`) through its
//! target's function, on stable: what libFuzzer found once stays fixed.

use std::fs;
use std::path::Path;

#[test]
fn every_corpus_file_replays_without_a_failure() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut replayed = 0usize;
    for (target, run) in authsession_fuzz::TARGETS {
        let folder = corpus.join(target);
        let mut files: Vec<_> = fs::read_dir(&folder)
            .unwrap_or_else(|error| panic!("no corpus for {target} in {folder:?}: {error}"))
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "the corpus of {target} is empty");
        for file in files {
            let data = fs::read(&file).unwrap();
            // A failure names the file, so that it can be run alone.
            eprintln!("{target}: {}", file.display());
            run(&data);
            replayed += 1;
        }
    }
    assert!(replayed > 0);
}
