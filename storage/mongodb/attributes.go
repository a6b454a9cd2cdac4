package mongodb

import (
	"bytes"
	"encoding/json"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// attributes are a resource's client attributes (TMF646 and extensions), stored as the text
// of one JSON object rather than as BSON fields: names may start with $ or hold dots, and
// numbers must keep their exact spelling. One string, not an element per attribute, because
// the embedded store decodes every element on every read: 2,000 attributes stored as an
// array made each read of the appointment take 100 ms.
type attributes map[string]json.RawMessage

// legacyAttribute is how attributes were stored before: an array of name and JSON text.
type legacyAttribute struct {
	Name string `bson:"n"`
	JSON string `bson:"j"`
}

// MarshalBSONValue writes the object in name order, each value as the client spelled it.
func (a attributes) MarshalBSONValue() (byte, []byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, name := range sortedKeys(a) {
		if i > 0 {
			b.WriteByte(',')
		}
		key, err := json.Marshal(name)
		if err != nil {
			return 0, nil, err
		}
		b.Write(key)
		b.WriteByte(':')
		b.Write(a[name])
	}
	b.WriteByte('}')
	t, data, err := bson.MarshalValue(b.String())
	return byte(t), data, err
}

// UnmarshalBSONValue reads the object text, or the array written before it.
func (a *attributes) UnmarshalBSONValue(t byte, data []byte) error {
	switch bson.Type(t) {
	case bson.TypeString:
		var text string
		if err := bson.UnmarshalValue(bson.TypeString, data, &text); err != nil {
			return err
		}
		return json.Unmarshal([]byte(text), (*map[string]json.RawMessage)(a))
	case bson.TypeArray:
		var legacy []legacyAttribute
		if err := bson.UnmarshalValue(bson.TypeArray, data, &legacy); err != nil {
			return err
		}
		*a = make(attributes, len(legacy))
		for _, l := range legacy {
			(*a)[l.Name] = json.RawMessage(l.JSON)
		}
		return nil
	case bson.TypeNull:
		*a = nil
		return nil
	}
	return fmt.Errorf("attributes stored as BSON type %v", bson.Type(t))
}
