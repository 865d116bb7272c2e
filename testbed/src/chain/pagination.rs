//! `cosmos.base.query.v1beta1` pagination as `types/query/pagination.go Paginate` applies it:
//! key or offset (not both), default limit 100, `next_key` = the key after the page, totals
//! counted when asked (or when no pagination was sent at all).

/// `query.DefaultLimit`.
pub const DEFAULT_LIMIT: u64 = 100;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    pub key: Vec<u8>,
    pub offset: u64,
    pub limit: u64,
    pub count_total: bool,
    pub reverse: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_key: Option<Vec<u8>>,
    /// `None` when not counted (the response then says `"0"`).
    pub total: Option<u64>,
}

/// Pages `items`, sorted by their store key. `None` = no pagination in the request.
pub fn paginate<T>(mut items: Vec<(Vec<u8>, T)>, request: Option<PageRequest>) -> Result<Page<T>, String> {
    let mut req = request.unwrap_or(PageRequest { count_total: true, ..Default::default() });
    if req.offset > 0 && !req.key.is_empty() {
        return Err("invalid request, either offset or key is expected, got both".into());
    }
    if req.limit == 0 {
        req.limit = DEFAULT_LIMIT;
        req.count_total = true;
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    if req.reverse {
        items.reverse();
    }
    let total = items.len() as u64;
    let start = if req.key.is_empty() {
        req.offset.min(total) as usize
    } else if req.reverse {
        items.iter().position(|(k, _)| *k <= req.key).unwrap_or(items.len())
    } else {
        items.iter().position(|(k, _)| *k >= req.key).unwrap_or(items.len())
    };
    let limit = usize::try_from(req.limit).unwrap_or(usize::MAX);
    let end = start.saturating_add(limit).min(items.len());
    let next_key = items.get(end).map(|(k, _)| k.clone());
    let counted = req.key.is_empty() && req.count_total;
    let page = items.into_iter().skip(start).take(end - start).map(|(_, v)| v).collect();
    Ok(Page { items: page, next_key, total: counted.then_some(total) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn denoms() -> Vec<(Vec<u8>, &'static str)> {
        ["c", "a", "b"].into_iter().map(|d| (d.as_bytes().to_vec(), d)).collect()
    }

    #[test]
    fn no_request_pages_everything_and_counts() {
        let page = paginate(denoms(), None).unwrap();
        assert_eq!((page.items, page.next_key, page.total), (vec!["a", "b", "c"], None, Some(3)));
    }

    #[test]
    fn limits_hand_out_the_next_key_and_keys_resume_there() {
        let first = paginate(denoms(), Some(PageRequest { limit: 2, ..Default::default() })).unwrap();
        assert_eq!(
            (first.items.clone(), first.next_key.clone(), first.total),
            (vec!["a", "b"], Some(b"c".to_vec()), None)
        );
        let second = paginate(
            denoms(),
            Some(PageRequest { key: first.next_key.unwrap(), limit: 2, ..Default::default() }),
        )
        .unwrap();
        assert_eq!((second.items, second.next_key), (vec!["c"], None));
    }

    #[test]
    fn key_and_offset_together_are_rejected() {
        let req = PageRequest { key: b"a".to_vec(), offset: 1, ..Default::default() };
        assert!(paginate(denoms(), Some(req)).is_err());
    }
}
