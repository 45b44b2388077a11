// Package awsapi plants every way an exported API can hold an AWS type, for
// TestTheAPICheckFindsAWSTypesEverywhere.
package awsapi

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

type Item = map[string]types.AttributeValue

type Table struct {
	Raw  []types.TransactWriteItem
	db   *dynamodb.Client
	keep types.AttributeValue
}

func New(db *dynamodb.Client) *Table { return &Table{db: db} }

func (t *Table) Put(it map[string]types.AttributeValue) error { return nil }
func (t *Table) get() types.AttributeValue                    { return t.keep }

type Port interface {
	Write(...types.TransactWriteItem)
}

var Default func() (Item, error)

func Open(db *dynamodb.Client) *Table { return nil }
