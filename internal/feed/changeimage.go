package feed

import "fmt"

// SetImage decodes a stored item into c's typed image of its type (the
// old image when old is set, else the new one) and returns the key that
// image names (its ids, as opposed to its PK and SK attributes), so the
// caller can check both agree. A TypeLease item has no typed image: no
// consumer of the change stream reads leases. Both decoders of changes use
// it: the Kinesis record decoder and the embedded store's change log.
// Errors wrap ErrUnknownItemType for an item of another type, else are the
// item's decode error.
func (c *Change) SetImage(it Item, old bool) (Key, error) {
	switch t := it.Type(); t {
	case TypeGame:
		g, err := DecodeGame(it)
		if err != nil {
			return Key{}, err
		}
		c.OldGame, c.NewGame = pick(old, &g, c.OldGame, c.NewGame)
		return g.Key(), nil
	case TypeOdds:
		o, err := DecodeOdds(it)
		if err != nil {
			return Key{}, err
		}
		c.OldOdds, c.NewOdds = pick(old, &o, c.OldOdds, c.NewOdds)
		return o.Key(), nil
	case TypeMarket:
		s, err := DecodeMarket(it)
		if err != nil {
			return Key{}, err
		}
		c.OldMarket, c.NewMarket = pick(old, &s, c.OldMarket, c.NewMarket)
		return s.Key(), nil
	case TypeProvider:
		s, err := DecodeProvider(it)
		if err != nil {
			return Key{}, err
		}
		c.OldProvider, c.NewProvider = pick(old, &s, c.OldProvider, c.NewProvider)
		return s.Key(), nil
	case TypeLease:
		l, err := DecodeLease(it)
		if err != nil {
			return Key{}, err
		}
		return LeaseKey(l.Name), nil
	default:
		return Key{}, fmt.Errorf("%w %q", ErrUnknownItemType, t)
	}
}

// pick sets v as the old or the new image.
func pick[T any](old bool, v, curOld, curNew *T) (*T, *T) {
	if old {
		return v, curNew
	}
	return curOld, v
}
