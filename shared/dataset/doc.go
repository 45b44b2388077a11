// Package dataset reads the public data sets tierflow validates against (CDNOW, UCI
// Online Retail) and generates the synthetic data set that covers the same code paths in
// every run. The real files are never copied into the repository: they are read from
// ../shared/data beside the checkout, or from $TIERFLOW_DATA_DIR.
package dataset
