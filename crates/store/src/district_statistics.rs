//! BM25 statistics counted within one district, for searches filtered to it.
//!
//! BM25 weighs a word by how many documents hold it and a document's length
//! by the average. Counted over the whole index, as tantivy does by
//! default, those figures carry the city's tickets into the order of a
//! district's hits: a district-limited user who files tickets of their own
//! could compare orders and learn how often a word occurs in other
//! districts. Counted here, every figure a search filtered to a district
//! scores with comes from that district's live documents only.

use tantivy::collector::Count;
use tantivy::query::{Bm25StatisticsProvider, BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocSet, Searcher, Term, TERMINATED};

/// The statistics of the documents under one district term.
pub(crate) struct DistrictStatistics<'a> {
    searcher: &'a Searcher,
    district: Term,
    docs: u64,
    /// Tokens per field, walked once per search (each query word asks).
    tokens: std::cell::RefCell<Vec<(Field, u64)>>,
}

impl<'a> DistrictStatistics<'a> {
    /// `district` is the term of the district field that every scored
    /// document must hold.
    pub(crate) fn new(searcher: &'a Searcher, district: Term) -> tantivy::Result<Self> {
        let docs = searcher.search(&Self::term_query(&district), &Count)? as u64;
        Ok(DistrictStatistics {
            searcher,
            district,
            docs,
            tokens: std::cell::RefCell::new(Vec::new()),
        })
    }

    fn term_query(term: &Term) -> Box<dyn Query> {
        Box::new(TermQuery::new(term.clone(), IndexRecordOption::Basic))
    }
}

impl Bm25StatisticsProvider for DistrictStatistics<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        if let Some((_, n)) = self.tokens.borrow().iter().find(|(f, _)| *f == field) {
            return Ok(*n);
        }
        let n = self.count_tokens(field)?;
        self.tokens.borrow_mut().push((field, n));
        Ok(n)
    }

    /// At least one, so that BM25's average length is defined when the
    /// district has no document yet (nothing is scored then).
    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(self.docs.max(1))
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        if *term == self.district {
            return Ok(self.docs);
        }
        let both = BooleanQuery::new(vec![
            (Occur::Must, Self::term_query(term)),
            (Occur::Must, Self::term_query(&self.district)),
        ]);
        Ok(self.searcher.search(&both, &Count)? as u64)
    }
}

impl DistrictStatistics<'_> {
    /// The tokens of `field` in the district's live documents, read from
    /// their field norms (what BM25 itself reads as each document's length).
    fn count_tokens(&self, field: Field) -> tantivy::Result<u64> {
        let mut tokens = 0u64;
        for segment in self.searcher.segment_readers() {
            let index = segment.inverted_index(self.district.field())?;
            let Some(mut postings) =
                index.read_postings(&self.district, IndexRecordOption::Basic)?
            else {
                continue;
            };
            let norms = segment.get_fieldnorms_reader(field)?;
            let alive = segment.alive_bitset();
            let mut doc = postings.doc();
            while doc != TERMINATED {
                if alive.is_none_or(|a| a.is_alive(doc)) {
                    tokens += u64::from(norms.fieldnorm(doc));
                }
                doc = postings.advance();
            }
        }
        Ok(tokens.max(1))
    }
}
