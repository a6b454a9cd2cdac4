package rediscache

import (
	"context"

	"github.com/apphub/apphub"
)

// ScriptVersionsForTest reads the tokens the way the plain reads of Versions stand in for.
func (c *Cache) ScriptVersionsForTest(ctx context.Context, keys []apphub.ResourceDay, zones []apphub.ZoneDay) ([]string, error) {
	return c.scriptVersions(ctx, keys, zones)
}
