"""The shipped default model (wavenet.onnx) and its model card; data only."""
